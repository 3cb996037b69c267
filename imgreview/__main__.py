from imgreview.cli.main import main

raise SystemExit(main())
