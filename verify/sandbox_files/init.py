"""pid 1 of a monkeys sandbox container: a tiny reaper.

Orphans of finished samples are re-parented to pid 1; reaping them keeps zombies from filling
the container's pids limit. Catchable signals are ignored so a sample cannot end the container
by signalling pid 1 (the kernel already drops SIGKILL/SIGSTOP sent to a namespace's init from
inside it). Started as root (the container's user, so that the executor that `docker exec`
starts as root keeps its few capabilities), it drops to nobody first. Only the standard
library; runs under the container's own python3.
"""

from __future__ import annotations

import os
import signal

NOBODY = 65534


def main() -> None:
    if os.getuid() == 0:  # started as root only so that `docker exec` keeps its capabilities
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    for sig in (
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGHUP,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGPIPE,
        signal.SIGALRM,
    ):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        signal.sigtimedwait({signal.SIGCHLD}, 5.0)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break


if __name__ == "__main__":
    main()
