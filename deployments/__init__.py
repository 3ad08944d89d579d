"""Ray Serve wiring of the controller and the experts."""
