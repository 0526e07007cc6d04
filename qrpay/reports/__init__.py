"""Collection reports: rollups, charts, PDF and spreadsheet output (qrpay report ...)."""
