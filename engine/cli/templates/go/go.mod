module {{name_snake}}

go 1.24

require distroduce.dev/sdk v0.0.0

replace distroduce.dev/sdk => ./sdk
