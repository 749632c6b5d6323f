#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and answer its prompts, like a person would.

usage: pty-run.py SCRIPT_JSON -- COMMAND...
SCRIPT_JSON is a list of [pattern, keys]: wait until the screen output matches the regex
pattern, then type keys. Prints everything the command wrote and exits with its code.
"""
import json
import os
import pty
import re
import select
import sys
import time

steps = json.loads(sys.argv[1])
command = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output = b""
deadline = time.time() + 30


def read_some(timeout):
    global output
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        return False
    if not chunk:
        return False
    output += chunk
    return True


seen = 0
for pattern, keys in steps:
    regex = re.compile(pattern.encode())
    while not regex.search(output, seen):
        if time.time() > deadline or not read_some(0.2):
            sys.stdout.write(output.decode(errors="replace"))
            sys.stderr.write(f"\npty-run: never saw {pattern!r}\n")
            os.kill(pid, 9)
            sys.exit(99)
    seen = regex.search(output, seen).end()
    time.sleep(0.05)
    os.write(fd, keys.encode())

while time.time() < deadline and read_some(0.2):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
