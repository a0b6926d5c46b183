"""memstore in an asyncio service: one AsyncMemory for the app, opened at startup.

Run it:  pip install 'memstore-sql' fastapi uvicorn && uvicorn examples.fastapi_app:app
(MEMSTORE_URL picks the database; the default is sqlite:///memstore.db.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import memstore


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One AsyncMemory for the whole app: it is safe to share between requests (on
    # PostgreSQL pass a psycopg_pool.AsyncConnectionPool for calls in parallel).
    async with await memstore.connect_async() as mem:
        await mem.init_schema()
        app.state.mem = mem
        yield


app = FastAPI(lifespan=lifespan)


# memstore checks every input before any SQL runs; bad input is the client's error (4xx),
# not the server's (500). ValidationError names the field and the reason.
@app.exception_handler(memstore.ValidationError)
async def bad_input(request: Request, exc: memstore.ValidationError) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)


@app.exception_handler(memstore.NotFoundError)
async def not_found(request: Request, exc: memstore.NotFoundError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


class Turn(BaseModel):
    user_id: str
    text: str


def memory(request: Request) -> memstore.AsyncMemory:
    return request.app.state.mem  # type: ignore[no-any-return]


@app.post("/chats/{chat_id}/messages")
async def post_message(chat_id: str, turn: Turn, request: Request) -> dict[str, object]:
    mem = memory(request)
    saved = await mem.save_messages(chat_id, [
        {"role": "user", "content": turn.text},
        {"role": "assistant", "content": f"You said: {turn.text}"},  # your agent's answer
    ], user_id=turn.user_id)
    return {"ids": [m.id for m in saved]}


@app.get("/chats/{chat_id}/messages")
async def history(chat_id: str, request: Request, limit: int = 20) -> list[dict[str, str]]:
    messages = await memory(request).get_messages(chat_id, limit=limit)
    return [{"role": m.role, "content": m.content} for m in messages]
