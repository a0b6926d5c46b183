"""One module per dialect. Each adapter only knows its driver; the rules live in store.py."""
