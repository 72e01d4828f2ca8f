"""Running a profile on Docker: the deploy target protocol and the one place a target is chosen
(``target``), Compose and Swarm as its two targets, the health wait, status, logs, down, and the
deployment history."""
