"""The sales staff UI: deals (board and list), proposals, catalogue, templates, settings.

Views stay thin: reads through ``throughline.sales.access`` (sales see only their own deals
when the organization says so), writes through ``throughline.sales.services`` with the
request's ``Actor``.
"""
