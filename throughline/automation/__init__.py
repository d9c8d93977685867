"""Automation: workflows (trigger → conditions → steps with waits) and sequences.

Other apps extend it without the engine importing them: they register subject types
(``registry.register_subject``), actions (``registry.register_action``) and field setters
(``registry.register_setter``) in their ``AppConfig.ready``.
"""
