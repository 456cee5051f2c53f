"""leadsync: a lead database in two-way sync with Salesforce."""

__version__ = "0.1.0"
