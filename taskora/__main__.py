from taskora.cli import main

raise SystemExit(main())
