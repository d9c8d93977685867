"""Every sales write path, one module per concern (STYLE: write paths are verbs in services).

Each public function runs in one transaction, validates, writes an audit entry and, where the
domain says so, emits an event (DESIGN §4). Views, the API, the CLI and jobs all call these.
"""
