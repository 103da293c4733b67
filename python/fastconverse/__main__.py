from fastconverse.cli import main

raise SystemExit(main())
