"""Signing's business operations, split by concern (contracts, ceremony, otp, evidence,
sealing, certificates, templates, notify). Views, the API, tasks and handlers call these."""
