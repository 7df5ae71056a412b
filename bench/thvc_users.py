"""Create the simulated sync users of workload 6 in a ThVC data directory (before it serves).

    python -m bench.thvc_users COUNT PREFIX TENANT APP_PASSWORDS_FILE  < password

Users are created through ThVC's own account service (audit events and all). All of them
share one password, so its argon2id hash is computed once and reused: 3,300 hashes would cost
a minute of CPU for nothing. Each user then gets an app password, as a desktop client gets one
through Login Flow v2 and sends from then on; they are written to APP_PASSWORDS_FILE, one per
line in user order, for the load generator.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> int:
    count, prefix, tenant = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    out = Path(sys.argv[4])
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
    tokens = []
    try:
        for i in range(count):
            login = f"{prefix}{i:04d}@{tenant}"
            svc.accounts.create_user(login, password, actor="bench")
            tokens.append(svc.accounts.create_app_password(login, "Desktop client", actor=login))
    finally:
        svc.close()
    out.write_text("\n".join(tokens) + "\n")
    out.chmod(0o600)
    print(f"created {count} users with an app password each in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
