"""Exit 1 at once if another package install holds apt's or dpkg's lock (make install).

apt and dpkg take POSIX record locks (fcntl) on these files; trying the same lock without
waiting tells whether another apt-get, dpkg or unattended-upgrades is running, so that
``make`` says so and stops instead of sitting on the lock.  Files we cannot open (not
root) are left to apt-get itself.  ``QRPAY_APT_LOCKS`` (colon-separated) overrides the
list, for the test.
"""

from __future__ import annotations

import fcntl
import os
import sys

LOCKS = ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock",
         "/var/cache/apt/archives/lock")


def held(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the lock we may have taken
    return False


def main() -> int:
    paths = os.environ.get("QRPAY_APT_LOCKS", "").split(":") if os.environ.get(
        "QRPAY_APT_LOCKS") else list(LOCKS)
    busy = [p for p in paths if held(p)]
    if busy:
        print(f"another package install is running (it holds {busy[0]}): wait for it to "
              "finish, then run make again", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
