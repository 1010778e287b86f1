package rotate

// Unscheduled returns opts for a Rotator without its background schedule:
// the policy runs only in NewRotator and RunOnce. Tests that move a fake
// clock use it, so every change they expect comes from their own RunOnce.
func Unscheduled(opts Options) Options {
	opts.unscheduled = true
	return opts
}
