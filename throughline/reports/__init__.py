"""Reports (DESIGN §2, rightmost app): KPIs, AR aging, DSO, cash-flow forecast, CSV export.

Reads every other app's models and never writes them. Each KPI appears only when its data
exists: the app is installed and it has rows.
"""
