"""The store: SQLAlchemy tables generated from the domain records, engine, migrations, repositories."""
