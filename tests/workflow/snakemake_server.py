"""Run ``python -m snakemake`` calls as forks of one interpreter that has imported Snakemake already.

A fresh ``python -m snakemake`` spends ~1.5 s of CPU starting Python and importing Snakemake and its
plugins before it reads the workflow, about 60 % of a dry run. This server (started by conftest.py,
one per session) imports Snakemake once, then for each call forks a child that takes the call's
working directory, environment, argv and output files, and runs Snakemake's command line exactly as
``python -m snakemake`` would; nothing of a call is left in the server for the next.

Protocol (one call at a time): a JSON line ``{"args", "cwd", "env", "stdout", "stderr"}`` on stdin;
answers ``{"pid": ...}`` when the child has started (it leads a process group of its own, to be
killed on a timeout), then ``{"returncode": ...}`` when it has ended.
"""

import json
import os
import sys
import traceback

sys.path[0] = os.getcwd()  # as for `python -m`: the working directory first, not this file's folder

import snakemake.cli  # noqa: E402  (the expensive part, done once)

#: argv[0] of `python -m snakemake` (importing snakemake.__main__ would run Snakemake)
MAIN = os.path.join(os.path.dirname(snakemake.cli.__file__), "__main__.py")


def child(call: dict) -> int:
    """Snakemake's command line in this (forked) process, with the call's files and settings."""
    os.setsid()
    os.chdir(call["cwd"])
    sys.path[0] = call["cwd"]
    os.environ.clear()
    os.environ.update(call["env"])
    for fd, path in ((0, os.devnull), (1, call["stdout"]), (2, call["stderr"])):
        new = os.open(path, os.O_RDONLY) if fd == 0 else os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(new, fd)
        os.close(new)
    sys.argv = [MAIN, *call["args"]]
    try:
        snakemake.cli.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def serve():
    for line in sys.stdin:
        call = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                code = child(call)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.exit(code)  # a normal exit (atexit handlers run, files flushed), out of this loop
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
