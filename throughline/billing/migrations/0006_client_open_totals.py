"""PostgreSQL: each client's open invoices summed per currency, kept by a trigger.

The cash-flow forecast folds a client's long-overdue invoices into one amount (reports.
forecast_inputs). Summing them at report time reads every such invoice (hundreds of thousands
in bench/reports.py); with this table it reads one row per client and currency and subtracts
the few invoices it reads one by one anyway.

``billing_client_open`` holds, per (contact, currency), the issued invoices (not credit notes,
not drafts) with something due: their count, ``amount_due`` summed, and ``amount_due ×
exchange_rate`` summed over those that carry a rate (unrounded). A row trigger on
``billing_invoice`` moves an invoice's share out of its old row and into its new one whenever
any of the columns that decide it change (nothing when they do not), so every write — the
services, the admin, raw SQL, a bulk load — keeps it right, in the writer's own transaction;
emptying the invoices (TRUNCATE: a test database's flush) empties it too.
SQLite has no such table: the forecast reads the invoices there (small books).
"""

from django.db import migrations

CREATE = """
CREATE TABLE billing_client_open (
    contact_id uuid NOT NULL,
    currency varchar(3) NOT NULL,
    invoices integer NOT NULL DEFAULT 0,
    amount_due numeric NOT NULL DEFAULT 0,
    rated_amount numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (contact_id, currency)
);

CREATE FUNCTION billing_client_open_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean := TG_OP <> 'INSERT' AND COALESCE(OLD.document_type = 'invoice'
                   AND OLD.status <> 'draft' AND OLD.amount_due > 0, false);
    now boolean := TG_OP <> 'DELETE' AND COALESCE(NEW.document_type = 'invoice'
                   AND NEW.status <> 'draft' AND NEW.amount_due > 0, false);
BEGIN
    IF TG_OP = 'UPDATE' AND was = now AND (NOT now OR (
        OLD.contact_id = NEW.contact_id AND OLD.currency = NEW.currency
        AND OLD.amount_due = NEW.amount_due
        AND OLD.exchange_rate IS NOT DISTINCT FROM NEW.exchange_rate)) THEN
        RETURN NULL;  -- its share did not move
    END IF;
    IF was THEN
        INSERT INTO billing_client_open AS o
            (contact_id, currency, invoices, amount_due, rated_amount)
        VALUES (OLD.contact_id, OLD.currency, -1, -OLD.amount_due,
                -COALESCE(OLD.amount_due * OLD.exchange_rate, 0))
        ON CONFLICT (contact_id, currency) DO UPDATE
        SET invoices = o.invoices + EXCLUDED.invoices,
            amount_due = o.amount_due + EXCLUDED.amount_due,
            rated_amount = o.rated_amount + EXCLUDED.rated_amount;
    END IF;
    IF now THEN
        INSERT INTO billing_client_open AS o
            (contact_id, currency, invoices, amount_due, rated_amount)
        VALUES (NEW.contact_id, NEW.currency, 1, NEW.amount_due,
                COALESCE(NEW.amount_due * NEW.exchange_rate, 0))
        ON CONFLICT (contact_id, currency) DO UPDATE
        SET invoices = o.invoices + EXCLUDED.invoices,
            amount_due = o.amount_due + EXCLUDED.amount_due,
            rated_amount = o.rated_amount + EXCLUDED.rated_amount;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER billing_client_open_track
AFTER INSERT OR UPDATE OR DELETE ON billing_invoice
FOR EACH ROW EXECUTE FUNCTION billing_client_open_track();

CREATE FUNCTION billing_client_open_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE billing_client_open;
    RETURN NULL;
END $$;

CREATE TRIGGER billing_client_open_clear
AFTER TRUNCATE ON billing_invoice
FOR EACH STATEMENT EXECUTE FUNCTION billing_client_open_clear();

INSERT INTO billing_client_open (contact_id, currency, invoices, amount_due, rated_amount)
SELECT contact_id, currency, COUNT(*), SUM(amount_due),
       COALESCE(SUM(amount_due * exchange_rate), 0)
FROM billing_invoice
WHERE document_type = 'invoice' AND status <> 'draft' AND amount_due > 0
GROUP BY contact_id, currency;
"""
DROP = """
DROP TRIGGER IF EXISTS billing_client_open_track ON billing_invoice;
DROP TRIGGER IF EXISTS billing_client_open_clear ON billing_invoice;
DROP FUNCTION IF EXISTS billing_client_open_track();
DROP FUNCTION IF EXISTS billing_client_open_clear();
DROP TABLE IF EXISTS billing_client_open;
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_payment_reversed_line_undone")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
