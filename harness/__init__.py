"""rightfit's harness: plan + suite + base model -> built candidates -> evaluated -> run records."""
