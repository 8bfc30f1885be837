"""Human tasks: claim, complete, assign, delegate, comment; inboxes, candidates and the check of a task's form."""
