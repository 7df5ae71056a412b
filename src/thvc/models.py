"""Imports every model so that the metadata (and Alembic) sees all tables."""

from thvc.accounts import models as accounts
from thvc.audit import models as audit
from thvc.files import models as files
from thvc.sharing import models as sharing
from thvc.tenants import models as tenants
from thvc.uploads import models as uploads

__all__ = ["accounts", "audit", "files", "sharing", "tenants", "uploads"]
