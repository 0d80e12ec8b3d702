"""Impact: reports, their intake, aggregation into campaign totals, rollups, campaigns and verification."""
