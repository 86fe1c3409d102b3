"""Input errors name file, line, column and rule in one line."""

from risk_dagster.errors import InputFileError


def test_message_names_everything():
    error = InputFileError("data/x.csv", "out_of_range", "unemployment_rate 250 outside [0, 30]", row=4, column="Unemployment rate")
    text = str(error)
    assert text == "data/x.csv: line 4: column 'Unemployment rate': out_of_range: unemployment_rate 250 outside [0, 30]"
    assert "\n" not in text
    assert error.as_dict()["rule"] == "out_of_range"
    assert isinstance(error, ValueError)


def test_message_without_location():
    assert str(InputFileError("a.csv", "empty_file", "the file is empty")) == "a.csv: empty_file: the file is empty"
