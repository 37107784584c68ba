"""Pure analysers (no AWS): policy documents, network rules, schedules."""
