"""Write a local .env with fresh secrets on first start; never touch an existing one."""

from __future__ import annotations

import base64
import secrets
import sys
from pathlib import Path


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
    if path.exists():
        return 0
    fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    path.write_text(
        "# Generated on first start. Keep it secret; losing FIELD_ENCRYPTION_KEY loses\n"
        "# every encrypted setting value.\n"
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(48)}\n"
        f"FIELD_ENCRYPTION_KEY={fernet_key}\n"
        "DJANGO_DEBUG=0\n"
    )
    path.chmod(0o600)
    print(f"wrote {path} with fresh secrets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
