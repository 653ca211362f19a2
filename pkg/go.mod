module berth.dev/pkg

go 1.26.8
