"""Capital projection (DESIGN.md "Capital"): loss-rate satellites, balance sheet, CET1 path, stress capital buffer.

Plain modules, no Dagster: :mod:`~risk_dagster.capital.loss_rates` (loan loss-rate satellites fitted on
the Fed's charge-off history), :mod:`~risk_dagster.capital.balance_sheet` (the jump-off balance sheet
contract and the sample bank's), :mod:`~risk_dagster.capital.projection` (provisions, allowance, taxes,
dividends, AOCI, CET1 ratio per quarter and sample, the stress capital buffer).
"""
