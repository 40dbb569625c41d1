"""The store: SQLAlchemy tables generated from the domain records, engine, migrations, repositories."""

# Every table must be on the shared metadata whichever store module is imported first.
from cintel.store import case_tables as case_tables
from cintel.store import entity_tables as entity_tables
from cintel.store import risk_tables as risk_tables
from cintel.store import web_tables as web_tables
