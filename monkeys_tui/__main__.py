from monkeys_tui._start import main

raise SystemExit(main())
