"""Running a profile on the local Docker engine: finding the engine and Compose, bringing the
service up, waiting until it is healthy, status, logs, down, and the deployment history."""
