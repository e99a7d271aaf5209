from monkeys_tui.cli import main

raise SystemExit(main())
