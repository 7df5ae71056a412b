"""Create the simulated sync users of workload 6 in a ThVC data directory (before it serves).

    python -m bench.thvc_users COUNT PREFIX TENANT  < password

Users are created through ThVC's own account service (audit events and all). All of them
share one password, so its argon2id hash is computed once and reused: 3,300 hashes would cost
a minute of CPU for nothing. The server still verifies each user's password with argon2id on
that user's first request, exactly as for any other account.
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    count, prefix, tenant = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    password = sys.stdin.readline().rstrip("\n")

    import thvc.accounts.services as account_services
    from thvc.services import build_services
    from thvc.settings import load_settings

    real = getattr(account_services, "hash_password", None)
    if real is not None:
        cached = real(password)
        account_services.hash_password = lambda pw: cached if pw == password else real(pw)  # type: ignore[attr-defined]
    svc = build_services(load_settings())
    t0 = time.monotonic()
    try:
        for i in range(count):
            svc.accounts.create_user(f"{prefix}{i:04d}@{tenant}", password, actor="bench")
    finally:
        svc.close()
    print(f"created {count} users in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
