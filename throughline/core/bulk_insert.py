"""``insert(objs)``: ``bulk_create`` for the batches of imports, as PostgreSQL ``COPY``.

``bulk_create`` builds one ``INSERT … VALUES`` with a placeholder per value, and psycopg
binds them on the client (Django's default), re-parsing the whole statement: for a batch of
thousands of rows that costs far more than the database's work. ``COPY … FROM STDIN``
streams the same rows as data. What the rows hold is what ``bulk_create`` would write:
each field's ``pre_save`` (``auto_now``, defaults) and ``get_db_prep_save``; auto-increment
ids are taken from the table's sequence first, so the objects know their ids afterwards as
they do after ``bulk_create`` on PostgreSQL. No signals are sent (neither does
``bulk_create``).

Small batches, other databases, and models with database defaults or generated fields go
through ``bulk_create``: below ``COPY_FROM`` rows one ``INSERT`` is the cheaper statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models

COPY_FROM = 64


def insert(objs: Sequence[models.Model], batch_size: int = 1000) -> None:
    """Insert ``objs`` (unsaved instances of one model) in the current transaction."""
    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: read once per value below
    model = type(objs[0])
    if connection.vendor != "postgresql" or len(objs) < COPY_FROM or not _copyable(model):
        model._default_manager.bulk_create(objs, batch_size=batch_size)
        return
    opts = model._meta
    pk = opts.pk
    fields = [f for f in opts.local_concrete_fields if not (f is pk and pk.db_returning)]
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    if pk.db_returning:  # an auto-increment id: taken from its sequence, as INSERT would
        missing = [obj for obj in objs if obj.pk is None]
        if missing:
            _take_ids(connection, model, missing)
        fields.insert(0, pk)
    values = [
        [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs
    ]
    table = connection.ops.quote_name(opts.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # The raw cursor's errors become Django's (a duplicate key is an IntegrityError) as with
    # any statement that goes through the cursor wrapper.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _copyable(model: type[models.Model]) -> bool:
    return not any(
        getattr(f, "generated", False) or f.db_default is not models.NOT_PROVIDED
        for f in model._meta.local_concrete_fields
    )


def _take_ids(connection, model: type[models.Model], objs: list[models.Model]) -> None:
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(opts.db_table), opts.pk.column, len(objs)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
