"""SQL over `raw_json` that survives the shapes a field takes in the wild.

Live records change a field's type between records: numbers as strings (`"1.0"`, `"4096"`),
JSON objects or lists written as strings, a list of `{Name, Value}` pairs that is sometimes
missing ("Office 365 Management Activity API schema"; the variants are in Elastic's o365
fixtures). Each helper returns NULL (or an empty list) for a shape it cannot read, never an
error, so a view keeps every record and its untyped fields stay readable in `raw_json`.
"""

from __future__ import annotations

_WHITESPACE = "' ' || chr(9) || chr(10) || chr(13)"
NAME_VALUE_LIST = '[{"Name":"VARCHAR","Value":"VARCHAR"}]'


def _path(field: str) -> str:
    return "$." + ".".join(f'"{part}"' for part in field.split("."))


def text(field: str, source: str = "raw_json") -> str:
    """The field as text (a number's digits, a nested value's JSON), without surrounding
    whitespace or line breaks (some servers end values with a line break); '' and absent are NULL.
    """
    return f"nullif(trim(json_extract_string({source}, '{_path(field)}'), {_WHITESPACE}), '')"


def integer(field: str, source: str = "raw_json") -> str:
    """The field as a whole number, whether written `5`, `"5"`, `5.0` or `"1e2"`."""
    return f"TRY_CAST(TRY_CAST({text(field, source)} AS DOUBLE) AS BIGINT)"


def boolean(field: str, source: str = "raw_json") -> str:
    """The field as true/false, whether written `true`, `"True"` or `"false"`."""
    return f"TRY_CAST({text(field, source)} AS BOOLEAN)"


def json_value(field: str, source: str = "raw_json") -> str:
    """The field as JSON; a string that holds JSON (an object or list written as text) is
    parsed, a string that does not stays a JSON string.
    """
    path = _path(field)
    return (
        f"CASE WHEN json_type({source}, '{path}') = 'VARCHAR' "
        f"THEN coalesce(TRY_CAST(json_extract_string({source}, '{path}') AS JSON), "
        f"json_extract({source}, '{path}')) "
        f"ELSE json_extract({source}, '{path}') END"
    )


def json_list(field: str, source: str = "raw_json") -> str:
    """The field's elements as a list of JSON values; [] when it is not a list."""
    return f"coalesce(from_json({json_value(field, source)}, '[\"JSON\"]'), [])"


def structs(field: str, shape: str, source: str = "raw_json") -> str:
    """The field read as a list of the given JSON structure (DuckDB `from_json`); elements or
    members of another type come out NULL, a field that is not a list gives [].
    """
    return f"coalesce(from_json({json_value(field, source)}, '{shape}'), [])"


def name_values(field: str, source: str = "raw_json") -> str:
    """A `[{Name, Value}]` list (ExtendedProperties, DeviceProperties, Parameters, …)."""
    return structs(field, NAME_VALUE_LIST, source)


def value_named(pairs: str, name: str) -> str:
    """The first Value whose Name is `name` in a prepared `[{Name, Value}]` list."""
    return f"nullif(trim(list_filter({pairs}, lambda pair: pair.Name = '{name}')[1].Value), '')"


def name_value_map(pairs: str) -> str:
    """A `[{Name, Value}]` list as MAP(VARCHAR, VARCHAR): the first value of a repeated name
    wins and nameless pairs are left out (a DuckDB MAP refuses both).
    """
    names = f"list_transform({pairs}, lambda pair: pair.Name)"
    kept = (
        f"list_filter({pairs}, lambda pair, position: pair.Name IS NOT NULL "
        f"AND list_position({names}, pair.Name) = position)"
    )
    return (
        f"map_from_entries(list_transform({kept}, "
        "lambda pair: {'key': pair.Name, 'value': pair.Value}))"
    )


def identity_of_type(identities: str, type_code: int) -> str:
    """The first ID of an `Actor`/`Target` list whose Type is `type_code` (5 = UPN)."""
    return (
        f"list_filter({identities}, "
        f"lambda identity: TRY_CAST(identity.Type AS INTEGER) = {type_code})[1].ID"
    )


IDENTITY_LIST = '[{"ID":"VARCHAR","Type":"VARCHAR"}]'
