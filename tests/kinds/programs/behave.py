"""Does one thing its first argument names, to show how output and endings are reported."""

import json
import os
import signal
import sys
import time

what = sys.argv[1]
if what == "args":  # report exactly what arrived: argv, environment, open descriptors
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    report = {"argv": sys.argv[2:], "env": dict(os.environ), "fds": fds, "cwd": os.getcwd()}
    os.write(3, (json.dumps({"result": report}) + "\n").encode())
    print("reported", flush=True)
elif what == "fail":
    for n in range(1, 15):
        print(f"problem {n}", file=sys.stderr, flush=True)
    print("some output", flush=True)
    sys.exit(3)
elif what == "signal":
    print("about to die", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
elif what == "binary":
    sys.stdout.buffer.write(b"caf\xc3\xa9 \xff\xfe\x00nul \x1b[31mred\r\n")
    sys.stdout.buffer.write(b"x" * 200_000 + b"\n")
    sys.stdout.buffer.write(b"after the long line\n")
    sys.stdout.buffer.write(b"no newline at the end")
    sys.stdout.flush()
    os.write(3, b"this is not json\n")
elif what == "limits":
    import resource

    limits = {n: resource.getrlimit(getattr(resource, n))[0] for n in ("RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_AS")}
    os.write(3, (json.dumps({"result": limits}) + "\n").encode())
elif what == "orphan":  # exits at once, leaving a child behind that would sleep for a minute
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    os.write(3, (json.dumps({"result": {"child": child}}) + "\n").encode())
elif what == "sleep":
    time.sleep(float(sys.argv[2]))
