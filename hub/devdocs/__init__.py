"""Developer docs built from the serving app: OpenAPI, Postman, the /docs page and code examples."""
