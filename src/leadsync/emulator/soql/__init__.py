"""SOQL for the emulated org: a lark grammar, a typed tree, and a compiler to SQLite SQL."""
