"""Pack data built from the run's files: what the text says is derived, not written in."""


def test_segments_fitted_to_one_series_are_named_as_proxies() -> None:
    from risk_dagster.report.pack_data import loss_rate_proxies

    lines = loss_rate_proxies({"first_lien_mortgage", "junior_lien_heloc", "c_and_i", "cre"})
    assert len(lines) == 1 and "first lien mortgage and junior lien heloc" in lines[0] and "sfr" in lines[0]
    assert loss_rate_proxies({"c_and_i", "cre"}) == []  # each on its own series: nothing to say
