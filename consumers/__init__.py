"""The four consumer applications (loan, loan-payment, service, car) and their shared runtime.

Each consumer is one module runnable with `python -m consumers.<module>`; `consumers.registry.CONSUMERS`
names them for orchestrators. See docs/consumers.md.
"""
