module {{name}}

go 1.24

require weir v0.0.0

replace weir => ./weir-sdk
