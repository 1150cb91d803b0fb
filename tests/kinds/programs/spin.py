"""Knows nothing of jobkeeper: burns CPU and prints a count every tenth of a second."""

import time

count, last = 0, time.monotonic()
while True:
    count += 1
    if time.monotonic() - last >= 0.1:
        print(f"count {count}", flush=True)
        last = time.monotonic()
