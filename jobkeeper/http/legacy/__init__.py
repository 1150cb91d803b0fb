"""The legacy paths: the API of the older service jobkeeper replaces (`/api/getjobs/`,
`/api/createjob/`, ...), kept so its clients keep working.

"Legacy" means exactly that surface: its paths, its field names and status words, its five
job types. Each path is answered by the same application as the v1 API, and marked
deprecated in the OpenAPI document in favour of its v1 equivalent.
"""
