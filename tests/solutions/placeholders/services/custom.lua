-- An alias that is no Murano service: kept as a script key that can be fired.
--#EVENT k3yp4d asyncJob
return data
