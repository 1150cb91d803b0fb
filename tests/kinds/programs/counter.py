"""Sums 1..N one number per step, checkpointing on fd 3; stops cleanly on its stop signal."""

import json
import os
import signal
import sys
import time

steps, pause = int(sys.argv[1]), float(sys.argv[2])
stop_signal = getattr(signal, sys.argv[3]) if len(sys.argv) > 3 else signal.SIGTERM
progress = os.fdopen(int(os.environ["JOBKEEPER_PROGRESS_FD"]), "w", buffering=1)
state = json.loads(os.environ.get("JOBKEEPER_CHECKPOINT", '{"next": 1, "sum": 0}'))
stopping = False


def stop(*_):
    global stopping
    stopping = True


signal.signal(stop_signal, stop)
print(f"starting at {state['next']}", flush=True)
while state["next"] <= steps:
    state["sum"] += state["next"]
    state["next"] += 1
    print(f"added {state['next'] - 1}", flush=True)
    progress.write(json.dumps({"progress": (state["next"] - 1) / steps, "checkpoint": state}) + "\n")
    if stopping:
        print("stopping on request", flush=True)
        sys.exit(0)
    time.sleep(pause)
progress.write(json.dumps({"result": {"sum": state["sum"]}}) + "\n")
