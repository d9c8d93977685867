"""Bank statement import: CSV (with a column mapping), OFX and ISO 20022 CAMT.053.

Each format's parser turns a file into ``ParsedLine`` rows or raises ``StatementError`` (a
``ValidationError``) saying what is wrong and where; ``import_statement`` stores a file's lines
in one transaction, skipping lines already imported, so a malformed file stores nothing and a
re-import stores nothing twice.
"""

from throughline.billing.services.statements.common import ParsedLine, StatementError
from throughline.billing.services.statements.importing import detect_format, import_statement

__all__ = ["ParsedLine", "StatementError", "detect_format", "import_statement"]
