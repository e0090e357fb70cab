"""Pure utilities: text normalisation, configuration, metrics, logging. They import nothing
of the application above them."""
