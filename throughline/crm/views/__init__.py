"""The CRM staff UI: contacts, companies and tasks (server-rendered, htmx where it helps).

Views stay thin: they read through ``throughline.crm.access`` (so "sales see only their own
records" holds everywhere), write through ``throughline.crm.services`` with the request's
``Actor``, and render. Each module holds one area; ``listing`` has the shared search, sort and
pagination helpers.
"""
