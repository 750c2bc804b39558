"""The backends whose failures become incidents, one package each, behind the `Source` protocol (`base`);
`registry` lists them once."""
